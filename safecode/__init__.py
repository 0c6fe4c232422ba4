"""The composition root: settings, embedded services, migrations, the CLI and the ASGI apps."""
