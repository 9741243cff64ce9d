"""The demo bank: realistic, valid, fictitious data loaded through the services."""
