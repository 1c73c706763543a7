"""visualize.app: the application built on the rendering library.

The ``chainrule`` command line (:mod:`visualize.app.cli`, started by
:mod:`visualize.app.console`), the lessons (:mod:`visualize.app.lessons`) and
the playground. The app uses the public API of :mod:`autograd`, :mod:`nn` and
:mod:`visualize`; the library never imports the app.
"""
