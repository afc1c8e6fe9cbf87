package io.streamdiffusion4j.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** The JDK's ImageIO: always available, slower than TurboJPEG (about 4 ms decode, 9 ms encode at 512x512). */
public final class ImageIoCodec implements ImageCodec {

    @Override
    public RgbImage decode(byte[] data) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(data));
        if (img == null) throw new IOException("not an image ImageIO can read (" + data.length + " bytes)");
        return ImageFiles.fromBufferedImage(img);
    }

    @Override
    public byte[] encodeJpeg(RgbImage image, int quality) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(Math.clamp(quality, 1, 100) / 100f);
            writer.write(null, new IIOImage(ImageFiles.toBufferedImage(image), null, null), p);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    @Override
    public String name() {
        return "ImageIO";
    }
}
