"""Shape of the cord: cross-sectional area and morphometry per slice/level, compression, aSCOR, lesions."""
