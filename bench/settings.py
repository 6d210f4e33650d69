"""engage's settings, plus the benchmark's baseline view (see ``bench.urls``)."""

import warnings

from config.settings import *  # noqa: F403

# WhiteNoise warns that collectstatic never ran; the benchmarks serve no files.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")

ROOT_URLCONF = "bench.urls"
# The benchmarks' mail server and provider fakes listen on loopback.
ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
