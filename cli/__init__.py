"""The top layer: the ``traces`` command and ``traces serve``'s start-up. Imports every layer below; nothing imports it."""
