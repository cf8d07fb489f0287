"""The class hub's configuration, as `cargo hub` describes it (kernel-setup/src/hub/)."""
