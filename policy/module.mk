# policy/: build fragment included by the top-level Makefile (see its header for the variables).
