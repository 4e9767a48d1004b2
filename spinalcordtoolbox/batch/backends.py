"""Where subjects run: a local pool, a dask.distributed cluster, or SLURM through dask-jobqueue.

Each backend submits :func:`~spinalcordtoolbox.batch.job.run_subject` calls and waits for the
first to finish; the runner does the scheduling. The local pool uses threads that each start one
bash process per subject: the subjects run as separate OS processes (a pool of ``-jobs``
processes), without pickling or an extra Python interpreter per subject.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import shutil

from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

BACKENDS = ("local", "dask", "slurm")


def n_jobs(jobs: int) -> int:
    """``-jobs``: N, or 0 = all cores, or -N = all cores minus N (at least 1)."""
    cores = os.cpu_count() or 1
    return jobs if jobs > 0 else max(1, cores + jobs)


class LocalBackend:
    name = "local"

    def __init__(self, jobs: int):
        self.jobs = n_jobs(jobs)
        self.pool = cf.ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="sct_run_batch")

    def describe(self) -> str:
        return f"local pool of {self.jobs} job(s)"

    def capacity(self) -> int:
        return self.jobs

    def submit(self, func, job, key):
        return self.pool.submit(func, job)

    def wait(self, futures, timeout):
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return done

    def is_lost_worker(self, exc) -> bool:
        return False  # nothing between us and the bash process can die alone

    def interrupt(self):
        from spinalcordtoolbox.batch.job import terminate_running
        self.pool.shutdown(wait=False, cancel_futures=True)
        terminate_running()

    def close(self):
        self.pool.shutdown(wait=True)


class DaskBackend:
    """A running dask.distributed scheduler (``-scheduler``), or a LocalCluster of ``-jobs`` workers.

    Fault tolerance: the LocalCluster is started with ``allowed-failures 0`` so a worker that dies
    during a subject fails that task at once with ``KilledWorker``; the runner then resubmits it
    once (to the surviving workers). With an external scheduler its own ``allowed-failures``
    setting may retry the task first.
    """
    name = "dask"

    def __init__(self, jobs: int, scheduler: str | None = None, cluster=None):
        import dask
        from distributed import Client, LocalCluster

        self.cluster = cluster
        if cluster is None and not scheduler:
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self.cluster = LocalCluster(n_workers=n_jobs(jobs), threads_per_worker=1, processes=True,
                                            dashboard_address=":0")
        self._own_cluster = self.cluster is not None
        try:
            self.client = Client(self.cluster if self.cluster is not None else scheduler, timeout=30)
        except (OSError, TimeoutError) as e:
            raise SCTError(f"Cannot connect to the dask scheduler {scheduler}: {e}")
        self.jobs = jobs

    def describe(self) -> str:
        where = self.client.scheduler.address
        return f"dask scheduler {where}, {len(self.client.nthreads())} worker(s) now"

    def capacity(self) -> int:
        threads = sum(self.client.nthreads().values())
        return max(threads, n_jobs(self.jobs), 1)

    def submit(self, func, job, key):
        return self.client.submit(func, job, key=key, pure=False, **self._submit_kwargs())

    def _submit_kwargs(self):
        return {}

    def wait(self, futures, timeout):
        from distributed import wait
        try:
            return wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return set()

    def interrupt(self):
        pass  # closing the client cancels the tasks; scripts already running on workers finish

    def is_lost_worker(self, exc) -> bool:
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError
        return isinstance(exc, (KilledWorker, CommClosedError))

    def close(self):
        self.client.close()
        if self._own_cluster:
            self.cluster.close()


def slurm_cluster(cores=1, memory="4GB", walltime="01:00:00", queue=None, account=None, job_extra=None,
                  python=None):
    """A dask-jobqueue SLURMCluster where each SLURM job is one worker running one subject at a
    time (``subject`` resource) with ``cores`` CPUs for the toolbox's threads."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(
        cores=cores, processes=1, memory=memory, walltime=walltime, queue=queue, account=account,
        job_cpu=cores, job_extra_directives=list(job_extra or []), python=python,
        worker_extra_args=["--resources", "subject=1"], scheduler_options={"dashboard_address": ":0"})


class SlurmBackend(DaskBackend):
    """SLURM jobs through dask-jobqueue, scaled to min(subjects, ``-jobs``) jobs."""
    name = "slurm"

    def __init__(self, jobs: int, n_subjects: int, **slurm):
        if not shutil.which("sbatch"):
            raise SCTError("-backend slurm submits jobs with 'sbatch', which is not on PATH: "
                           "run sct_run_batch on the cluster's login node")
        cluster = slurm_cluster(**slurm)
        self.max_jobs = max(1, min(n_subjects, jobs if jobs > 0 else n_subjects))
        cluster.scale(jobs=self.max_jobs)
        super().__init__(jobs, cluster=cluster)
        self.job_script = cluster.job_script()

    def describe(self) -> str:
        return f"SLURM through dask-jobqueue, up to {self.max_jobs} job(s)"

    def capacity(self) -> int:
        return self.max_jobs

    def _submit_kwargs(self):
        return {"resources": {"subject": 1}}


def make_backend(name, jobs, n_subjects, scheduler=None, slurm=None):
    if name == "local":
        if scheduler:
            logger.warning("-scheduler is used only with -backend dask; ignored")
        return LocalBackend(jobs)
    if name == "dask":
        return DaskBackend(jobs, scheduler=scheduler)
    if name == "slurm":
        return SlurmBackend(jobs, n_subjects, **(slurm or {}))
    from spinalcordtoolbox.utils.cli import choice_error
    raise choice_error("backend", name, BACKENDS)
