"""Build the cffi extension; all metadata lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["src/copypatch/_build.py:ffibuilder"])
