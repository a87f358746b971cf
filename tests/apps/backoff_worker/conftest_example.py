# conftest.py
import shims

shims.install()  # first: worker.py imports google.appengine.api.taskqueue when it is imported
