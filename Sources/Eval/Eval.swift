// Eval module: see DESIGN.md for its role.
