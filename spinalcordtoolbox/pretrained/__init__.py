"""The toolbox's pretrained networks, re-implemented in PyTorch from their Keras HDF5 weights.

- ``h5weights``: read Keras HDF5 files (weights and stored model config) with h5py.
- ``networks``: torch modules built from those files (config-driven U-Nets, dilated GM net),
  cached per process, on CPU or GPU.
- ``preprocessing``: resampling, cropping around the cord, intensity standardisation.
- ``gm``, ``centerline``, ``lesion``: the three segmentation pipelines.

Importing this package is light: torch is imported only inside the functions that run a net.
"""
