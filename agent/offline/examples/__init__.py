"""Data files of the offline engine (examples); a package so that installs ship them."""
