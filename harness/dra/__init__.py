"""The fake GPU/NIC topology DRA driver (`fake-gpu/`) on a testbed: image, objects, install, wait."""

from harness.dra.install import DriverFigures, fake_gpu_image, install_fake_gpu, objects

__all__ = ["DriverFigures", "fake_gpu_image", "install_fake_gpu", "objects"]
