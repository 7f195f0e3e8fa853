"""The auto-informer (R21–R25): customers with contracts, campaigns, sends and their results."""
