//! Data sets from folders: scanning, labels, splits, feature cache.
