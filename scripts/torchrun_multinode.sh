#!/usr/bin/env bash
# One trial on the GPUs of several machines: run this on every node, same arguments.
#   export SHORTCUT_NAS_STORAGE=postgresql+psycopg://USER:PASSWORD@HOST/DB   # rank 0 only needs it
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=node0 scripts/torchrun_multinode.sh studies/configs/cifar10_gpu.toml
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=node0 scripts/torchrun_multinode.sh studies/configs/cifar10_gpu.toml
# torchrun starts GPUS_PER_NODE ranks per node (default: all GPUs here) and forms one DDP group of
# NNODES x GPUS_PER_NODE ranks; torchrun's topology, not [hardware] devices, sets the group size.
# Global rank 0 (on NODE_RANK 0) is the only Optuna client: it samples, reports, prunes and
# records; every other rank trains what it announces. If any rank dies, torchrun stops the rest
# and rank 0's trial is failed and re-enqueued (it resumes from its last epoch checkpoint).
# [study] artifacts must be a directory every node sees, or s3://bucket.
set -euo pipefail
config=${1:?usage: NNODES=N NODE_RANK=I MASTER_ADDR=HOST scripts/torchrun_multinode.sh CONFIG [search flags]}
shift
cd "$(dirname "$0")/.."
gpus=$(.venv/bin/python -c "import torch; print(max(1, torch.cuda.device_count()))" 2>/dev/null || echo 1)
exec .venv/bin/python -m torch.distributed.run \
    --nnodes "${NNODES:?set NNODES, the number of machines}" \
    --node-rank "${NODE_RANK:?set NODE_RANK, 0 on the MASTER_ADDR machine}" \
    --nproc-per-node "${GPUS_PER_NODE:-$gpus}" \
    --rdzv-backend static --master-addr "${MASTER_ADDR:?set MASTER_ADDR, the host name of node 0}" \
    --master-port "${MASTER_PORT:-29500}" \
    --module studies search "$config" --no-progress "$@"
