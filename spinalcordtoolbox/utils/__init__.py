"""Small shared helpers: file system (atomic outputs, temp folders), CLI framework, CSV output."""
