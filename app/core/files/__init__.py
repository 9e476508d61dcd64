"""Reading what a user hands PSG Lens safely: size, nesting and epoch-length limits
shared by the hypnogram readers, render specs and model cards (:mod:`.limits`)."""
