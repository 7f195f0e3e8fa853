"""Local services that `mailrobot up` starts for a single-machine installation."""
