"""The `mailrobot` command line."""
