"""DRA drivers on a testbed (the fake GPU/NIC topology driver of `fake-gpu/`, Kubernetes' DRA test
driver) and the device profile the checks claim through, on any cluster."""

from harness.dra.install import DriverFigures, fake_gpu_image, install_fake_gpu, objects

__all__ = ["DriverFigures", "fake_gpu_image", "install_fake_gpu", "objects"]
