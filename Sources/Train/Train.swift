// Train module: see DESIGN.md for its role.
