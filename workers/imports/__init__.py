"""The import pipeline: fold rows, resolve references, attribute schools, diff by hash and apply in one transaction."""
