"""sct_run_batch: run a processing script over every subject of a BIDS dataset."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command

DESCRIPTION = """
Run a bash script on every subject (and session) of a BIDS dataset, in parallel, locally or on a
dask / SLURM cluster. The script is called as 'bash <script> <subject> <script args>' (subject =
sub-01 or sub-01/ses-01) with PATH_DATA, PATH_DATA_PROCESSED, PATH_RESULTS, PATH_LOG, PATH_QC,
PATH_SEGMANUAL, ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS and SCT_PROGRESS_BAR=off exported. Outputs go
to <path-output>/{data_processed,results,log,qc}; one log per subject (prefixed 'err.' when the
script fails), log/sct_run_batch_log.txt (provenance and summary) and batch_status.json.

Options can be given in a YAML or JSON file (-config) whose keys are the flag names, e.g.
'path_data: data' (flags typed on the command line take precedence).
"""


def get_parser():
    parser = SCTArgumentParser(description=DESCRIPTION)
    m = parser.mandatory
    m.add_argument("-script", metavar="<file>", help="Bash script to run on each subject (or in -config).")
    m.add_argument("-path-data", metavar="<folder>", help="BIDS dataset (or in -config).")
    o = parser.optional
    o.add_argument("-config", "-c", metavar="<file>", help="YAML/JSON file of options (keys = flag names).")
    o.add_argument("-path-output", metavar="<folder>", help="Output folder. Default: ./output")
    o.add_argument("-jobs", metavar="<int>", type=int,
                   help="Subjects processed in parallel: N, 0 = all cores, -N = all cores minus N. "
                        "With -backend slurm: the maximum number of SLURM jobs. Default: 1")
    o.add_argument("-itk-threads", metavar="<int>", type=int,
                   help="Threads per subject (ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS). Default: 1")
    o.add_argument("-script-args", metavar="<str>",
                   help="Arguments passed to the script after the subject, e.g. \"t2 0.5\".")
    o.add_argument("-subject-prefix", metavar="<str>", help="Prefix of subject folders. Default: sub-")
    o.add_argument("-include", metavar="<regex>", help="Process only subjects matching this regex.")
    o.add_argument("-include-list", metavar="<str>", nargs="+",
                   help="Process only these subjects (sub-01 or sub-01/ses-01), space-separated.")
    o.add_argument("-exclude", metavar="<regex>", help="Skip subjects matching this regex.")
    o.add_argument("-exclude-list", metavar="<str>", nargs="+", help="Skip these subjects.")
    o.add_argument("-path-segmanual", metavar="<folder>",
                   help="Manual segmentations/labels (PATH_SEGMANUAL). "
                        "Default: <path-data>/derivatives/labels")
    o.add_argument("-continue-on-error", metavar="<int>", type=int, choices=[0, 1],
                   help="1: keep processing the others when a subject fails; 0: start no new subject "
                        "after the first failure. Default: 1")
    o.add_argument("-ignore-ses", action="store_true", default=None,
                   help="One job per subject even when it has ses-* folders.")
    o.add_argument("-resume", action="store_true", default=None,
                   help="Skip subjects that finished without error in the previous run in this "
                        "output folder (read from batch_status.json).")
    o.add_argument("-zip", action="store_true", default=None,
                   help="Also zip results, logs and QC into <path-output>/<name>_<date>.zip.")
    o.add_argument("-batch-log", metavar="<file>", help="Name of the batch log in <path-output>/log. "
                                                         "Default: sct_run_batch_log.txt")
    o.add_argument("-email-to", metavar="<str>", help="Not implemented (a warning is printed).")
    d = parser.add_argument_group("DISTRIBUTED PROCESSING")
    d.add_argument("-backend", metavar="<str>", choices=["local", "dask", "slurm"],
                   help="local: a pool of -jobs processes; dask: a dask.distributed scheduler "
                        "(-scheduler) or a local cluster of -jobs workers; slurm: SLURM jobs through "
                        "dask-jobqueue. Default: local")
    d.add_argument("-scheduler", metavar="<str>", help="dask scheduler address, e.g. tcp://host:8786.")
    d.add_argument("-slurm-queue", metavar="<str>", help="SLURM partition.")
    d.add_argument("-slurm-account", metavar="<str>", help="SLURM account.")
    d.add_argument("-slurm-walltime", metavar="<str>", help="Time limit per job. Default: 01:00:00")
    d.add_argument("-slurm-memory", metavar="<str>", help="Memory per job. Default: 4GB")
    d.add_argument("-slurm-cores", metavar="<int>", type=int, help="CPUs per job. Default: 1")
    d.add_argument("-slurm-job-extra", metavar="<str>", nargs="+",
                   help="Extra #SBATCH directives, e.g. \"--qos=normal\".")
    parser.add_common_args()
    return parser


def _run(args):
    import logging
    from spinalcordtoolbox.batch.config import resolve_options
    from spinalcordtoolbox.batch.runner import run_batch
    from spinalcordtoolbox.utils.cli import SCTError

    args = resolve_options(get_parser(), args)
    if not args.script or not args.path_data:
        raise SCTError("-script and -path-data are required (on the command line or in -config)")
    if args.email_to:
        logging.getLogger(__name__).warning("-email-to is not implemented: no e-mail will be sent")
    options = {k: v for k, v in vars(args).items()
               if v is not None and (args.backend == "slurm" or not k.startswith("slurm_"))}
    slurm = {"queue": args.slurm_queue, "account": args.slurm_account, "walltime": args.slurm_walltime,
             "memory": args.slurm_memory, "cores": args.slurm_cores, "job_extra": args.slurm_job_extra}
    status = run_batch(
        args.script, args.path_data, args.path_output, jobs=args.jobs, itk_threads=args.itk_threads,
        script_args=args.script_args, subject_prefix=args.subject_prefix, include=args.include,
        include_list=args.include_list, exclude=args.exclude, exclude_list=args.exclude_list,
        path_segmanual=args.path_segmanual, continue_on_error=bool(args.continue_on_error),
        ignore_ses=args.ignore_ses, zip_outputs=args.zip, resume=args.resume, backend=args.backend,
        scheduler=args.scheduler, slurm=slurm, batch_log=args.batch_log, config_path=args.config,
        options=options, verbose=args.v)
    if status["failed"] or status["not_run"]:
        raise SCTError(f"{len(status['failed'])} subject(s) failed"
                       + (f", {len(status['not_run'])} not run" if status["not_run"] else "")
                       + f": {', '.join(status['failed'] + status['not_run'])} (see the summary above)")


def main(argv=None):
    # the logs and status of a batch with failed subjects are its result: no rollback
    return run_command(get_parser(), _run, argv, transaction=False)


if __name__ == "__main__":
    main()
