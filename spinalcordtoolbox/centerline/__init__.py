"""Spinal cord centerline: extraction from a segmentation or labels and smooth fitting."""
