"""snap.yaml texts shared by several test files."""

CAM = """
name: cam
version: '1'
apps:
  cam:
    command: bin/run
    plugs: [camera, network]
"""
