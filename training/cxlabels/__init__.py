"""The real-text CX labelled set: row selection, label storage by key, and the loader (see datasets/cxreal/)."""
