package io.streamdiffusion4j.image;

import io.streamdiffusion4j.files.AtomicFiles;
import io.streamdiffusion4j.files.InputFileException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** Reading and writing image files (PNG, JPEG, BMP, GIF) as {@link RgbImage}s. */
public final class ImageFiles {
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    private ImageFiles() {}

    /** {@link #read(Path, ImageSizeLimit)} with the default limit for input files, {@link ImageSizeLimit#FILES}. */
    public static RgbImage read(Path file) throws IOException {
        return read(file, ImageSizeLimit.FILES);
    }

    /**
     * Reads an image file as 8-bit RGB with ImageIO; an alpha channel is dropped and grey is
     * expanded, like PIL's convert("RGB"). The header is checked first (size within the limit,
     * data long enough), and a damaged file is an error that names it.
     *
     * @throws BadImageException when the file is not a valid image within the limit
     */
    public static RgbImage read(Path file, ImageSizeLimit limit) throws IOException {
        byte[] data = readBytes(file, limit);
        try {
            return fromBufferedImage(ImageIoCodec.read(data, limit));
        } catch (BadImageException e) {
            throw e.from(file.toString());
        }
    }

    /** Reads a file with {@code codec} after the same checks as {@link #read(Path, ImageSizeLimit)}. */
    public static RgbImage read(Path file, ImageSizeLimit limit, ImageCodec codec) throws IOException {
        byte[] data = readBytes(file, limit);
        try {
            return codec.decode(data, limit);
        } catch (BadImageException e) {
            throw e.from(file.toString());
        }
    }

    /** The bytes of an image file, refused unread when it is larger than any image within the limit can be. */
    private static byte[] readBytes(Path file, ImageSizeLimit limit) throws IOException {
        if (!Files.isRegularFile(file)) throw new InputFileException("input image not found: " + file);
        long size = Files.size(file);
        if (size > limit.maxFileBytes()) {
            throw new BadImageException(file + ": " + size + " bytes, more than an image of at most " + limit.maxSide() + "x"
                    + limit.maxSide() + " pixels takes (" + ImageSizeLimit.OPTION + ")");
        }
        return Files.readAllBytes(file);
    }

    public static RgbImage fromBufferedImage(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int o = (y * w + x) * 3;
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    public static BufferedImage toBufferedImage(RgbImage image) {
        BufferedImage out = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = image.rgb();
        int[] row = new int[image.width()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                int o = (y * image.width() + x) * 3;
                row[x] = ((rgb[o] & 0xff) << 16) | ((rgb[o + 1] & 0xff) << 8) | (rgb[o + 2] & 0xff);
            }
            out.setRGB(0, y, image.width(), 1, row, 0, image.width());
        }
        return out;
    }

    /**
     * Writes a PNG file whole or not at all (encoded in memory, then written atomically): a full
     * disk is an error naming the file, never a truncated PNG under its name.
     */
    public static void writePng(RgbImage image, Path file) throws IOException {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        if (!ImageIO.write(toBufferedImage(image), "png", png)) {
            throw new IOException("no PNG writer available for " + file);
        }
        AtomicFiles.write(file, png.toByteArray());
    }

    public static boolean isImageFile(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(p) && EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /** The image files of a folder in name order, or the single file given. */
    public static List<Path> list(Path input) throws IOException {
        if (Files.isDirectory(input)) {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(input)) {
                s.filter(ImageFiles::isImageFile).sorted().forEach(files::add);
            }
            if (files.isEmpty()) {
                throw new InputFileException("no image files (" + String.join(", ", EXTENSIONS) + ") in " + input);
            }
            return files;
        }
        if (Files.isRegularFile(input)) return List.of(input);
        throw new InputFileException("input not found: " + input);
    }
}
