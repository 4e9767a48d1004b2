"""Point labels (discs, levels), vertebral labeling, PMJ detection and interactive labels."""
