package io.streamdiffusion4j.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import io.streamdiffusion4j.onnx.proto.Onnx.GraphProto;
import io.streamdiffusion4j.onnx.proto.Onnx.ModelProto;
import io.streamdiffusion4j.onnx.proto.Onnx.StringStringEntryProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Where ONNX Runtime should look for the external weights of a graph rewritten in memory (the
 * UNet split, the VAE encoder rewrite), and the graph with its references made to fit.
 *
 * <p>A rewritten graph keeps the original's external-data references ({@code model.onnx_data},
 * relative to the original's folder), and ONNX Runtime refuses any whose real path leaves the
 * folder it is given. A Hugging Face Hub snapshot holds symbolic links into the cache's
 * {@code blobs/} folder, so there every reference "escapes". When the original's folder has
 * links, the references are pointed at the real files instead, and their real folder is the one
 * to give; without links the graph and folder are used as they are (no parsing).
 */
record ExternalDataFolder(byte[] model, Path folder) {

    /**
     * @param model a graph rewritten from a file in {@code originFolder}
     * @param originFolder the folder of the file it was rewritten from
     */
    static ExternalDataFolder of(byte[] model, Path originFolder) throws InvalidModelException {
        Path folder = originFolder.toAbsolutePath();
        if (!hasLinks(folder)) return new ExternalDataFolder(model, folder);
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(model);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(folder + ": a rewritten graph is not valid ONNX: " + e.getMessage(), e);
        }
        GraphProto.Builder graph = proto.getGraph().toBuilder();
        Map<String, Path> real = new HashMap<>();
        Set<Path> realFolders = new HashSet<>();
        for (TensorProto t : graph.getInitializerList()) {
            String location = location(t);
            if (location == null || real.containsKey(location)) continue;
            try {
                Path r = folder.resolve(location).toRealPath();
                real.put(location, r);
                realFolders.add(r.getParent());
            } catch (IOException e) {
                throw new InvalidModelException(folder + ": external weights '" + location + "' not found: " + e.getMessage(), e);
            }
        }
        // Only one real folder can be given; weights spread over several stay as they are (ONNX Runtime says why).
        if (real.isEmpty() || realFolders.size() != 1) return new ExternalDataFolder(model, folder);
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto t = graph.getInitializer(i);
            String location = location(t);
            if (location == null) continue;
            TensorProto.Builder b = t.toBuilder();
            for (int k = 0; k < b.getExternalDataCount(); k++) {
                if (b.getExternalData(k).getKey().equals("location")) {
                    b.setExternalData(k, StringStringEntryProto.newBuilder().setKey("location")
                            .setValue(real.get(location).getFileName().toString()));
                }
            }
            graph.setInitializer(i, b);
        }
        return new ExternalDataFolder(proto.toBuilder().setGraph(graph).build().toByteArray(), realFolders.iterator().next());
    }

    private static boolean hasLinks(Path folder) {
        try (var files = Files.list(folder)) {
            return files.anyMatch(Files::isSymbolicLink);
        } catch (IOException e) {
            return false; // ONNX Runtime reports an unreadable folder itself
        }
    }

    private static String location(TensorProto t) {
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return null;
        for (StringStringEntryProto e : t.getExternalDataList()) if (e.getKey().equals("location")) return e.getValue();
        return null;
    }
}
