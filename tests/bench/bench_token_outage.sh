#!/usr/bin/env bash
# Outages of the CAPF CA's token under load (tests/e2e/token_outage.sh with the token
# gone 10 s): prints, for the p11-kit server killed and for SoftHSM's token directory
# moved away, the RETRY_LATER counts (in all, by the token's return, at BEGIN) and the
# time from the token's return to the first LSC issued.
#   BENCH_OUTAGE_DOWN seconds (default 10)
OUTAGE_DOWN=${BENCH_OUTAGE_DOWN:-10} bash tests/e2e/token_outage.sh | grep -E '^#|not ok|token_outage:'
