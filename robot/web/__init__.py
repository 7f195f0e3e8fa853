"""The web: the Internet reception (forms, status page, JSON API) and the specialists' desk."""
