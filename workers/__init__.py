"""RQ jobs: thin functions that load ids, open a unit of work and call into ``robot``."""
