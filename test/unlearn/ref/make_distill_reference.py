"""Distill's loss, independently in float64 PyTorch: mean over real positions of
KL(softmax(teacher/T) || softmax(student/T)) * T^2, and its gradient w.r.t. the student logits.
Run with /usr/bin/python3 (Debian's torch); writes distill_reference.json beside this file."""
import json, os
import torch
import torch.nn.functional as F

torch.manual_seed(7)
B, T, V = 2, 5, 11
student = (torch.randn(B, T, V, dtype=torch.float64) * 2).requires_grad_()
teacher = torch.randn(B, T, V, dtype=torch.float64) * 3
mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.float64)
out = []
for temp in (1.0, 2.0, 0.5):
    if student.grad is not None:
        student.grad = None
    # F.kl_div(input=log q, target=log p, log_target=True) = p (log p - log q), per element.
    per = F.kl_div(F.log_softmax(student / temp, -1), F.log_softmax(teacher / temp, -1), reduction="none", log_target=True).sum(-1)
    loss = (per * mask).sum() / mask.sum() * temp * temp
    loss.backward()
    out.append({"temperature": temp, "loss": loss.item(), "grad": student.grad.tolist()})
ref = {"student": student.detach().tolist(), "teacher": teacher.tolist(), "mask": mask.tolist(), "cases": out}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "distill_reference.json"), "w") as f:
    json.dump(ref, f)
