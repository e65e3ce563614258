"""Record formats. Each is registered through the ``register_formats`` plugin hook
(``plugins/data_formats.py`` registers these first-party ones); look them up with
:func:`backend.datasets.registry.formats`."""
