#!/usr/bin/env python3
"""Starts moto's server (moto 5.2.6) with test-side patches for what moto cannot model.

Usage: launcher.py [moto_server arguments, e.g. -H 127.0.0.1 -p PORT]

EKS: moto invents every cluster's endpoint (a name that resolves nowhere) and its
certificateAuthority.data (a random string, not a certificate), so DescribeCluster
can never lead to an API server. When the environment variable MOTO_EKS_CLUSTERS
names a JSON file {"<cluster name>": {"endpoint": "https://...", "ca_data":
"<base64 of the CA's PEM>"}}, a cluster created with one of those names reports
them instead (the file is read at CreateCluster time, so a test can write it after
moto started). Everything else is moto as released.
"""
import json
import os
import sys

from moto.eks import models as eks_models
from moto.server import main


def _patch_eks():
    original_init = eks_models.Cluster.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        path = os.environ.get("MOTO_EKS_CLUSTERS")
        if not path or not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            overrides = json.load(f)
        name = kwargs.get("name", args[0] if args else None)
        found = overrides.get(name)
        if found:
            self.endpoint = found["endpoint"]
            self.certificate_authority = {"data": found["ca_data"]}

    eks_models.Cluster.__init__ = init


if __name__ == "__main__":
    _patch_eks()
    main(sys.argv[1:])
