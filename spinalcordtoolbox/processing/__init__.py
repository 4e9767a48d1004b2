"""Image processing: voxel-wise maths, filters along the cord, masks, cropping, header/array
manipulations and stitching (the engines of sct_maths, sct_smooth_spinalcord, sct_create_mask,
sct_crop_image, sct_image...)."""
