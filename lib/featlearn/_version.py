"""The package's version, in a module of its own so that every module can import it without importing the
package's face (``featlearn/__init__.py``)."""

__version__ = "0.1.0"
