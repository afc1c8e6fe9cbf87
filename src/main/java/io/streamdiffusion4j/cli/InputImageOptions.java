package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.image.ImageSizeLimit;
import picocli.CommandLine.Option;

/** The size limit on input image files (img2img's --input, run's folder:, image: and stdin: sources). */
final class InputImageOptions {
    @Option(names = ImageSizeLimit.OPTION, paramLabel = "PIXELS", defaultValue = "" + ImageSizeLimit.DEFAULT_FILE_SIDE,
            description = {"largest input image width or height; a larger image is refused from its header,",
                    "before it is decoded (default: ${DEFAULT-VALUE})"})
    int maxSide;

    /** The limit; an option below the minimum is bad input (IllegalArgumentException, exit 2). */
    ImageSizeLimit limit() {
        return new ImageSizeLimit(maxSide);
    }
}
