"""sct_download_data: install a dataset, template or model from the toolbox's registry."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Download and install a dataset, template or model. Downloads are verified and "
                    "installed atomically. Set SCT_DATA_MIRROR=<folder> to install from a local copy "
                    "(offline machines).")
    parser.mandatory.add_argument("-d", metavar="<name>", help="Name of the asset to install (see -l).")
    parser.optional.add_argument("-l", action="store_true", help="List the available assets and exit.")
    parser.optional.add_argument("-o", metavar="<folder>",
                                 help="Install into this folder instead of the toolbox's data cache. "
                                      "It must be new or empty (a file or a non-empty folder is refused).")
    parser.optional.add_argument("-k", action="store_true",
                                 help="Reinstall even if the asset is already installed; with -o, "
                                      "replace the content of a non-empty folder.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox import download

    if args.l:
        print(download.list_assets())
        return
    if not args.d:
        raise ValueError("Give an asset name with -d (use -l to list them)")
    folder = download.install_asset(args.d, args.o, force=args.k)
    display_open(folder, "Installed in")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
