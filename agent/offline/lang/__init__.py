"""Data files of the offline engine (lang); a package so that installs ship them."""
