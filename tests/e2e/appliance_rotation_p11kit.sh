#!/usr/bin/env bash
# tests/e2e/appliance_rotation.sh once more with the token reached through p11-kit's
# server and client module (scripts/appliance-local up --hsm p11-kit), the way a network
# HSM is: the third-party import, the restarts, and a ceremony that makes the new CAPF CA
# key through the client module, adopted and enrolled against.
export CAPF_E2E_HSM=p11-kit
# shellcheck source=tests/e2e/appliance_rotation.sh
. tests/e2e/appliance_rotation.sh
