"""electrode-ml: reproduce arXiv:2603.07805, composition-only property prediction for electrodes."""
__version__ = "0.1.0"
