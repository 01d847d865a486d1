"""The seed scenario (three Baocun programmes) as data, and its loader."""
