"""In-app help: what to do for each main task, per role (ヘルプ in the navigation)."""
