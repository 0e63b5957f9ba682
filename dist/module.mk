# dist/: what a deployment needs beside the programs: systemd units, sysusers,
# the packaged capf.conf and ceremony file, man pages, bash completion. debian/
# builds the package from them: `make deb` (scripts/make-deb) builds
# build/deb/capf-appliance_<VERSION>_<arch>.deb (and capf-phone_...) from a copy
# of the tree, then lintian.
.PHONY: deb
deb:
	@scripts/make-deb

# capf.conf(5): its SETTINGS section is generated from policy/capf.conf.example,
# so that the page documents exactly the settings the example does.
CAPF_CONF_MAN := $(BUILD)/man/capf.conf.5
all: $(CAPF_CONF_MAN)
$(CAPF_CONF_MAN): dist/man/capf.conf.5.in dist/man/conf2man.awk policy/capf.conf.example
	@mkdir -p $(dir $@)
	awk -f dist/man/conf2man.awk policy/capf.conf.example >$@.settings
	sed -e '/^@SETTINGS@$$/{r $@.settings' -e 'd;}' dist/man/capf.conf.5.in >$@
	rm -f $@.settings

# Tests: the build flags (make -n); the completion (bash, capfctl's own help texts); the package (as root:
# build, lintian, install, run the units' ExecStart lines, enroll, purge).
SHELL_TESTS += tests/integ/buildflags.sh tests/integ/completion.sh tests/integ/package.sh
