"""electrode-ml: reproduce arXiv:2603.07805, composition-only property prediction for electrodes.

The package is cut into parts by concern (docs/pipeline.md "Architecture": what each part owns and what it
may import; tests/test_layout.py holds the code to it). A part's `__init__` says what it offers.
"""
__version__ = "0.1.0"
