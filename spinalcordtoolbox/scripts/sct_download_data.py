"""sct_download_data: install a dataset, template or model from the toolbox's registry."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, refuse_together, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Download and install a dataset, template or model. Downloads are verified and "
                    "installed atomically. Set SCT_DATA_MIRROR=<folder> to install from a local copy "
                    "(offline machines).")
    parser.mandatory.add_argument("-d", metavar="<name>", help="Name of the asset to install (see -l).")
    parser.optional.add_argument("-l", action="store_true", help="List the available assets and exit.")
    parser.optional.add_argument("-o", metavar="<folder>",
                                 help="Install into this folder instead of the toolbox's data cache. "
                                      "Nothing already in it is deleted: into a non-empty folder the "
                                      "asset is merged, its files already there are kept (and listed), "
                                      "unless -overwrite. A file (not a folder) as -o is refused.")
    parser.optional.add_argument("-overwrite", action="store_true",
                                 help="Reinstall an installed asset; with -o, replace the files of the "
                                      "folder that the asset also has (the others are kept).")
    parser.optional.add_argument("-k", action="store_true",
                                 help="Keep the existing data of the -o folder (accepted for "
                                      "compatibility: it is always kept).")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox import download

    if args.l:
        print(download.list_assets())
        return
    if not args.d:
        raise ValueError("Give an asset name with -d (use -l to list them)")
    refuse_together(args, "-k", "-overwrite")
    folder = download.install_asset(args.d, args.o, force=args.overwrite)
    display_open(folder, "Installed in")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
