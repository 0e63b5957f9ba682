# appliance/: the programs and what only they share. Each sub-folder has its own
# fragment (appliance/NAME/module.mk) so that folders can be built and reviewed alone.
include $(sort $(wildcard appliance/*/module.mk))
