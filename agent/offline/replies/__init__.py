"""Data files of the offline engine (replies); a package so that installs ship them."""
