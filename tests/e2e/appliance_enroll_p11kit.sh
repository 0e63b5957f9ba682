#!/usr/bin/env bash
# tests/e2e/appliance_enroll.sh once more, with the CAPF CA key reached through
# p11-kit's server and client module (scripts/appliance-local up --hsm p11-kit):
# the way a network HSM is used (token.module, token.env), not SoftHSM loaded directly.
export CAPF_E2E_HSM=p11-kit
# shellcheck source=tests/e2e/appliance_enroll.sh
. tests/e2e/appliance_enroll.sh
